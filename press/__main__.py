"""``python -m press``: the press command, for processes press starts itself."""

from press.cli import main

if __name__ == "__main__":
    main()
