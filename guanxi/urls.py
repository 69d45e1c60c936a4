from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from guanxi import views
from guanxi.api import api
from guanxi.loyalty import public as loyalty_public

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # The loyalty program's public pages (no staff login): a member's own page by its signed
    # link, and the landing page of a referral code.
    path("m/<str:token>/", loyalty_public.self_service, name="loyalty_self_service"),
    path("r/<str:code>/", loyalty_public.referral_landing, name="loyalty_referral"),
]
