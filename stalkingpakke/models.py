# The tools of the stalking package (checklist, assessment, action plan, incident log, PDFs)
# arrive with the issue "Stalkingpakke"; the app is installed now so they fit in without rework.
