import pytest
from tests.browser.conftest import login
@pytest.mark.browser
def test_dbg(page, demo):
    login(page, demo, "visitator")
    page.set_viewport_size({"width": 320, "height": 900})
    from cases.models import Case
    page.goto(demo + Case.objects.get(full_name="Mette Sørensen").get_absolute_url())
    print(page.evaluate("""() => { const out=[]; for (const el of document.querySelectorAll('body *')) { const b=el.getBoundingClientRect(); if (b.right>321) out.push(el.tagName+'.'+el.className+' '+Math.round(b.left)+'-'+Math.round(b.right)+' '+getComputedStyle(el).position+' '+getComputedStyle(el).overflowX); } return out.slice(0,40).join('\\n'); }"""))
    print(page.evaluate("() => [document.documentElement.scrollWidth, document.body.scrollWidth, document.documentElement.clientWidth]"))
    print(page.evaluate("() => { const s=document.querySelector('.table--responsive-scroll'); const c=getComputedStyle(s); return [c.overflowX, c.display, c.width, s.scrollWidth, s.clientWidth]; }"))
    print(page.evaluate("() => { const s=document.querySelector('.portal-user'); const c=getComputedStyle(s); return [c.display]; }"))
    print(page.evaluate("() => { const s=document.querySelector('.navigation-menu'); const c=getComputedStyle(s); return [c.display]; }"))
