"""Generic building blocks that know no business word."""
