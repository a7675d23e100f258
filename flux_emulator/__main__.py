"""`python -m flux_emulator`: run the Flux API emulator in the foreground."""

from flux_emulator.app import main

main()
