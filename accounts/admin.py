from django.contrib import admin

from accounts.models import ConfidentialityAgreement, Membership, Practice, User


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "timezone"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "practice", "role", "starts_on", "ends_on"]
    list_filter = ["role"]


@admin.register(ConfidentialityAgreement)
class ConfidentialityAgreementAdmin(admin.ModelAdmin):
    list_display = ["version", "title", "published_at"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    # No password field here: nobody sets another person's password.
    list_display = ["username", "email", "is_active", "last_login"]
    fields = ["username", "first_name", "last_name", "email", "is_active"]
