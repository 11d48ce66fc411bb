"""headwater-push: Re-publishing streams with %s URL templates for headwater."""
