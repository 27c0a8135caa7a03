# The data protection officer's pages (audit search, export, review of flagged accesses).
# Filled in by the audit work; kept as its own urlconf so it can grow without touching cases.urls.
app_name = "audit"
urlpatterns: list = []
