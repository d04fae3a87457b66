"""Slide readers: the SlideSource contract and its OpenSlide and Pillow backends."""
