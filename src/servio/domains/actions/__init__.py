"""Action links: signed, single-use, expiring links that let staff act from a message
(confirm a booking, mark a deposit paid, approve or reject a design), and the page
behind each link."""
