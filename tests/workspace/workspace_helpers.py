"""Task records made in code for the workspace tests, and a short way to keep them."""

from gallery.flux.models import task_from_record

ACCOUNT = {"user_id": "u-1", "credential_id": "c-1", "application_id": "a-1", "api_id": "p-1"}


def record(n: int, prompt: str = "a lighthouse at dusk", *, created: float | None = None, model="flux-dev",
           size="1024x1024", seeds=(7,), failed=False) -> dict:
    """A finished task record in the API's shape, with account fields that must never be kept."""
    response = ({"success": False, "task_id": task_id(n), "error": {"code": "forbidden", "message": "no"}}
                if failed else {"success": True, "task_id": task_id(n),
                                "data": [{"image_url": f"https://img.example/{n}/{i}.png", "seed": seed}
                                         for i, seed in enumerate(seeds)]})
    return {"id": task_id(n), "created_at": created if created is not None else 1_764_000_000 + n,
            "finished_at": (created or 1_764_000_000 + n) + 5, **ACCOUNT,
            "request": {"action": "generate", "prompt": prompt, "model": model, "size": size},
            "response": response}


def task_id(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-000000000000"


def keep(kept, *records, source="viewed") -> None:
    kept.keep_many([(task_from_record(r["id"], r), r) for r in records], source)
