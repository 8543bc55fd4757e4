"""The package's version, as pip recorded it from pyproject.toml."""


def package_version() -> str:
    """The installed distribution's version, or "0+unknown" in a source tree never installed."""
    # Read on first use only: importlib.metadata costs several milliseconds to import.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("earlyexit-tutorial")
    except PackageNotFoundError:
        return "0+unknown"
