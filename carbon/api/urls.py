from django.urls import path

from carbon.api import views

urlpatterns = [
    path("objects/<object:ref>/footprint", views.FootprintView.as_view(), name="object-footprint"),
    path("objects/<object:ref>/battery-footprint", views.BatteryFootprintView.as_view(), name="battery-footprint"),
    path("factors", views.FactorListView.as_view(), name="factor-list"),
    path("footprints/weekly", views.WeeklySeriesView.as_view(), name="footprint-weekly"),
    path("sites/<int:pk>/accounts", views.SiteAccountListView.as_view(), name="site-accounts"),
    path("sites/<int:pk>/accounts/<str:period>", views.SiteAccountView.as_view(), name="site-account"),
]
