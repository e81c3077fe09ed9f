"""The demo: a car-to-car loop built only through the operation services (``loop``), its numbers
(``facts``), vehicles and their codes (``vehicles``), the planner's lots (``stock``), and what the
loaded demo holds (``summary``). ``manage.py seed_demo`` (in passport, which builds the batteries'
data sheets) runs it."""
