"""`python -m earlyexit_tutorial`: run the guide's example headless."""

if __name__ == "__main__":
    try:
        from ._entry import tutorial
    except KeyboardInterrupt:  # in the instant before the entry point takes over Ctrl-C
        import sys  # loaded with the interpreter: nothing to wait for

        try:
            if sys.stderr is not None:  # with stderr closed (2>&-), nothing is said
                sys.stderr.write("Interrupted\n")
        except (OSError, ValueError):
            pass
        raise SystemExit(130) from None
    raise SystemExit(tutorial())
