"""URLs of the Django example."""

from books import views
from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("clients", views.open_client),
    path("clients/<str:client_no>", views.client_detail),
    path("lookup", views.lookup),
    path("clients/<str:client_no>/consent", views.consent),
    path("clients/<str:client_no>/newsletter", views.newsletter),
    path("clients/<str:client_no>/emergency", views.emergency),
    path("audit/<str:client_no>", views.audit_trail),
]
