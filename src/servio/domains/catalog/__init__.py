"""What a business sells and for how much: verticals as data, pricing, estimates."""
