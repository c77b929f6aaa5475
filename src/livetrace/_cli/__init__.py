"""The ``livetrace`` command line (click + rich); the entry point is :func:`livetrace.cli.main`."""
