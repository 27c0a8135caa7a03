"""axe-core in the page: which rules, and the report of what fails."""

from .conftest import AXE_JS

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# axe files these under "best-practice", but issue 7 asks for them in so many words: headings
# in order, one h1, landmarks, a skip link, all content inside a landmark.
STRUCTURE_RULES = [
    "heading-order",
    "page-has-heading-one",
    "empty-heading",
    "empty-table-header",
    "landmark-one-main",
    "landmark-unique",
    "landmark-no-duplicate-banner",
    "landmark-no-duplicate-contentinfo",
    "landmark-no-duplicate-main",
    "landmark-banner-is-top-level",
    "landmark-contentinfo-is-top-level",
    "landmark-main-is-top-level",
    "region",
    "skip-link",
]

RUN_AXE = """async ([tags, extraRules]) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    rules: Object.fromEntries(extraRules.map((id) => [id, {enabled: true}])),
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""


def axe_violations(page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(RUN_AXE, [WCAG_TAGS, STRUCTURE_RULES])


def format_violations(where: str, violations: list[dict]) -> list[str]:
    lines = []
    for v in violations:
        lines.append(f"{where}: [{v['id']}] ({v['impact']}) {v['help']}")
        for node in v["nodes"][:5]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}  -- {summary[:300]}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return lines
