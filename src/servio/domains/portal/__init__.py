"""The client portal: a business's customers sign in by emailed link and see, move,
cancel and export their own bookings in that business."""
