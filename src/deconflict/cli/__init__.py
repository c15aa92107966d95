"""The ``deconflict`` command line."""
