"""The event log and current state: SQLite embedded by default.

``events`` defines the hash-chained entries, ``state`` what they add up to,
``sqlite`` the embedded store, ``documents`` the JSON form of the model.
"""

from deconflict.store.events import Event, EventDraft
from deconflict.store.sqlite import SQLiteStore
from deconflict.store.state import State

__all__ = ["Event", "EventDraft", "SQLiteStore", "State"]
