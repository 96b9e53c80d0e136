"""The acquisition and analysis pipeline: raw blocks -> samples -> figures -> live state/store."""
