"""Hook implementations of headwater-push."""
