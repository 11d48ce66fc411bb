"""Hook implementations of headwater-mpegts."""
