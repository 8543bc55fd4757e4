"""`python -m earlyexit_tutorial`: run the guide's example headless."""

try:
    import sys

    from .cli import run_program
except KeyboardInterrupt:  # Ctrl-C while the command line loads: no traceback
    raise SystemExit(130) from None

if __name__ == "__main__":
    sys.exit(run_program())
