"""Images behind an access key: no shared cache may keep them for people without the key.

Test names carry the number of the case in docs/security.md that they cover (`test_case_NN_`)."""

from security_helpers import DONE, make_app


def test_case_41_behind_an_access_key_thumbnails_and_originals_are_private(emulator, tmp_path):
    client = make_app(emulator, tmp_path, ACCESS_KEY="k-41").test_client()
    assert client.post("/access", data={"key": "k-41", "next": "/"}).status_code == 303
    for path in (f"/thumb/{DONE}/0/384", f"/image/{DONE}/0"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, max-age=31536000, immutable"
