"""`python -m earlyexit_tutorial`: run the guide's example headless."""

if __name__ == "__main__":
    try:
        import sys

        from .cli import run_program

        status = run_program()
    except KeyboardInterrupt:  # Ctrl-C before run_program took over its handling: no traceback
        raise SystemExit(130) from None
    sys.exit(status)
