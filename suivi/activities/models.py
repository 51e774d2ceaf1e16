"""Actions, action types and folders (general and party folders, with opportunity fields)."""
