"""headwater-dvr: records published streams as MPEG-TS segments, indexes, cleans and plays them."""
