"""The Learning Record Store (xAPI 1.0.3) and the statement emitter; knows nothing of courses."""
