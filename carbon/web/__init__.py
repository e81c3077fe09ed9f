"""Carbon's pages of the recycler console (``/app/``): the dashboard, and the lot page's footprint panel."""
