"""Getting generators into weights/: install (adopt) and the CPU weights campaign."""
