"""``python -m livetrace``: the same command line as the ``livetrace`` console script."""

from .cli import main

if __name__ == "__main__":
    main()
