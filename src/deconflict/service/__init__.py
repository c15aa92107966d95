"""The application service: the store and the engine behind one interface."""
