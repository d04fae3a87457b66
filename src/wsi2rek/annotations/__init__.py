"""Annotation readers (SlideRunner databases) and annotation value types."""
