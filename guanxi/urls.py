from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from guanxi import views
from guanxi.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
