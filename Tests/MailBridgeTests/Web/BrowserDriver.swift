import Foundation
import TestSupport

/// Drives headless Chromium (Debian package `chromium`) over the DevTools protocol with a small Python script
/// (standard library + Debian's `python3-websockets`): real page loads, real keyboard text input and real mouse
/// clicks on the rendered page, screenshots via `Page.captureScreenshot`. Every wait is bounded; Chromium runs
/// with a throw-away profile and is terminated at the end.
enum BrowserDriver {
    /// Chromium, if installed.
    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A Python 3 that has `websockets` (Debian's `/usr/bin/python3` with `python3-websockets`).
    static var python: String? {
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            if (try? Shell.run(candidate, ["-c", "import websockets"], allowFailure: true).status) == 0 { return candidate }
        }
        return nil
    }

    /// Why the browser test cannot run here, or nil.
    static var unavailableReason: String? {
        if chromium == nil { return "chromium is not installed (apt-get install chromium)" }
        if python == nil { return "python3-websockets is not installed (apt-get install python3-websockets)" }
        return nil
    }

    /// What one scripted session saw.
    struct Report: Decodable {
        var steps: [String]
        var urls: [String]
        var threadText: String
        var notice: String
        var replyShown: Bool
        var problems: [String]
    }

    /// Logs in at `base` + `/login` (password, then the TOTP code of the base32 `totpSecret` if the server asks),
    /// opens the thread `threadID` from the list, checks that `expectedText` is shown,
    /// sends `reply` through the form and saves a screenshot of the result at `screenshot`.
    static func loginOpenThreadAndReply(base: String, username: String, password: String, totpSecret: String?,
                                        threadID: String, expectedText: String, reply: String,
                                        screenshot: URL, workDirectory: URL, newPassword: String? = nil) throws
        -> Report
    {
        let script = workDirectory.appendingPathComponent("drive_inbox.py")
        try Data(Self.script.utf8).write(to: script)
        var plan: [String: String] = [
            "chromium": chromium!, "base": base, "username": username, "password": password, "thread": threadID,
            "expected": expectedText, "reply": reply, "screenshot": screenshot.path,
        ]
        if let totpSecret { plan["totp"] = totpSecret }
        if let newPassword { plan["newPassword"] = newPassword }
        let planJSON = String(decoding: try JSONSerialization.data(withJSONObject: plan), as: UTF8.self)
        let result = try Shell.run(python!, [script.path, planJSON], allowFailure: true)
        guard result.status == 0 else {
            throw Failure(text: "driver exited \(result.status): \(result.stderr.suffix(4000))")
        }
        return try JSONDecoder().decode(Report.self, from: Data(result.stdout))
    }

    /// One message as ``screenshotMessages(base:username:password:totpSecret:pages:workDirectory:)`` saw it.
    struct PageReport: Decodable {
        struct Block: Decodable {
            var text: String
            var dir: String
            var computedDirection: String
            var rtl: Bool
        }
        var path: String
        var blocks: [Block]
        /// The whole message as rendered (`innerText` of its `li.message`): headers, text, attachments.
        var messageText: String
    }

    struct PagesReport: Decodable {
        var steps: [String]
        var urls: [String]
        var problems: [String]
        var pages: [PageReport]
    }

    /// Logs in as ``loginOpenThreadAndReply`` does, then for each of `pages` opens `/threads/<thread>`, finds the
    /// message (`li.message`) shown with exactly `subject`, reads its `pre.mail-text` blocks (text, `dir`
    /// attribute, computed CSS `direction`, `:dir(rtl)`) and saves a screenshot of that message once the page's
    /// fonts are loaded.
    static func screenshotMessages(base: String, username: String, password: String, totpSecret: String?,
                                   pages: [(thread: String, subject: String, screenshot: URL)],
                                   workDirectory: URL) throws -> PagesReport
    {
        let script = workDirectory.appendingPathComponent("drive_inbox.py")
        try Data(Self.script.utf8).write(to: script)
        var plan: [String: Any] = [
            "chromium": chromium!, "base": base, "username": username, "password": password,
            "pages": pages.map { ["thread": $0.thread, "subject": $0.subject, "screenshot": $0.screenshot.path] },
        ]
        if let totpSecret { plan["totp"] = totpSecret }
        let planJSON = String(decoding: try JSONSerialization.data(withJSONObject: plan), as: UTF8.self)
        let result = try Shell.run(python!, [script.path, planJSON], allowFailure: true)
        guard result.status == 0 else {
            throw Failure(text: "driver exited \(result.status): \(result.stderr.suffix(4000))")
        }
        return try JSONDecoder().decode(PagesReport.self, from: Data(result.stdout))
    }

    /// What ``capturePublicPages(base:pages:workDirectory:)`` saw on each page.
    struct PublicReport: Decodable {
        struct Page: Decodable {
            var path: String
            var lang: String
            var title: String
            var text: String
            var scripts: Int
            var documentCookie: String
            var cookies: [String]
            var fingerprints: [String]
            var keyLinks: [String]
            var styled: String
        }
        var steps: [String]
        var urls: [String]
        var problems: [String]
        var pages: [Page]
    }

    /// Opens each of `pages` (paths below `base`) without logging in, reads what the page holds and saves a
    /// full-page screenshot; console errors (a CSP violation, say) are in ``PublicReport/problems``.
    static func capturePublicPages(base: String, pages: [(path: String, screenshot: URL)],
                                   workDirectory: URL) throws -> PublicReport {
        let script = workDirectory.appendingPathComponent("drive_public.py")
        try Data(Self.script.utf8).write(to: script)
        let plan: [String: Any] = [
            "chromium": chromium!, "base": base,
            "public": pages.map { ["path": $0.path, "screenshot": $0.screenshot.path] },
        ]
        let planJSON = String(decoding: try JSONSerialization.data(withJSONObject: plan), as: UTF8.self)
        let result = try Shell.run(python!, [script.path, planJSON], allowFailure: true)
        guard result.status == 0 else {
            throw Failure(text: "driver exited \(result.status): \(result.stderr.suffix(4000))")
        }
        return try JSONDecoder().decode(PublicReport.self, from: Data(result.stdout))
    }

    /// What ``captureNarrow(base:username:password:totpSecret:newPassword:width:shots:pages:workDirectory:)`` saw.
    struct NarrowReport: Decodable {
        struct Page: Decodable {
            var path: String
            /// The layout viewport's width (CSS pixels) and the document's: wider means sideways scrolling.
            var viewport: Int
            var scrollWidth: Int
            /// Elements reaching past either edge (tag, id, first class), at most 20.
            var overflowing: [String]
            /// `display` of the first thread-list row (`block` when the list is cards), empty without a list.
            var listRowDisplay: String
            var listHeaderShown: Bool
            /// The generated label of the first list cell (`content` of its `::before`), empty without a list.
            var cardLabel: String
            /// The first list cell's `data-label` (what that generated label shows).
            var cardLabelText: String
            var text: String
        }
        var steps: [String]
        var urls: [String]
        var problems: [String]
        var narrow: [Page]
    }

    /// Logs in as ``loginOpenThreadAndReply`` does, in a `width` CSS pixels wide mobile viewport, measuring the
    /// pages met on the way (`shots`: `/login`, `/login/totp`, `/account/password` → screenshot), then opens each
    /// of `pages` and measures it (``NarrowReport/Page``) with a full-page screenshot.
    static func captureNarrow(base: String, username: String, password: String, totpSecret: String?,
                              newPassword: String?, width: Int, shots: [String: URL],
                              pages: [(path: String, screenshot: URL)], workDirectory: URL) throws -> NarrowReport {
        let script = workDirectory.appendingPathComponent("drive_inbox.py")
        try Data(Self.script.utf8).write(to: script)
        var plan: [String: Any] = [
            "chromium": chromium!, "base": base, "username": username, "password": password, "width": width,
            "shots": shots.mapValues(\.path),
            "narrow": pages.map { ["path": $0.path, "screenshot": $0.screenshot.path] },
        ]
        if let totpSecret { plan["totp"] = totpSecret }
        if let newPassword { plan["newPassword"] = newPassword }
        let planJSON = String(decoding: try JSONSerialization.data(withJSONObject: plan), as: UTF8.self)
        let result = try Shell.run(python!, [script.path, planJSON], allowFailure: true)
        guard result.status == 0 else {
            throw Failure(text: "driver exited \(result.status): \(result.stderr.suffix(4000))")
        }
        return try JSONDecoder().decode(NarrowReport.self, from: Data(result.stdout))
    }

    struct Failure: Error, CustomStringConvertible {
        let text: String
        var description: String { text }
    }

    static let script = #"""
        import asyncio, base64, hashlib, hmac, json, os, shutil, struct, subprocess, sys, tempfile, time
        import urllib.request
        import websockets

        plan = json.loads(sys.argv[1])
        steps, urls, problems = [], [], []

        def totp(secret):  # RFC 6238, SHA-1, 30 s, 6 digits
            key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
            digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
            offset = digest[-1] & 15
            return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)

        class CDP:
            def __init__(self, ws):
                self.ws, self.next_id, self.pending, self.events = ws, 0, {}, []
                self.reader = asyncio.ensure_future(self.read())

            async def read(self):
                async for raw in self.ws:
                    message = json.loads(raw)
                    if "id" in message and message["id"] in self.pending:
                        self.pending.pop(message["id"]).set_result(message)
                    elif "method" in message:
                        self.events.append(message)
                        params = message.get("params", {})
                        if message["method"] == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                            problems.append("log: " + params["entry"].get("text", "")[:300] + " " + params["entry"].get("url", ""))
                        if message["method"] == "Runtime.exceptionThrown":
                            problems.append("exception: " + json.dumps(params)[:300])

            async def call(self, method, params=None, timeout=20):
                self.next_id += 1
                future = asyncio.get_running_loop().create_future()
                self.pending[self.next_id] = future
                await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params or {}}))
                reply = await asyncio.wait_for(future, timeout)
                if "error" in reply:
                    raise RuntimeError(method + ": " + json.dumps(reply["error"]))
                return reply.get("result", {})

            async def wait_event(self, name, start, timeout=20):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if any(e["method"] == name for e in self.events[start:]):
                        return
                    await asyncio.sleep(0.05)
                raise RuntimeError("timeout waiting for " + name)

        narrow = []

        async def measure(cdp, js, path, screenshot):
            # How a page fits a narrow screen: anything wider than the viewport (scrolling sideways, cut-off
            # columns), whether the thread list is cards, and a full-page screenshot once fonts are loaded.
            await cdp.call("Runtime.evaluate", {"expression": "document.fonts.ready.then(() => true)",
                                                "awaitPromise": True, "returnByValue": True})
            found = await js("""(() => { const w = document.documentElement.clientWidth; const out = [];
                for (const e of document.querySelectorAll('body *')) {
                    if (getComputedStyle(e).position === 'absolute' || e.closest('.skip-link')) continue;
                    const r = e.getBoundingClientRect();
                    // Past an edge, or content sticking out of its own box (a long word in a heading).
                    const spills = e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0
                        && getComputedStyle(e).overflowX === 'visible' && !['TR', 'TBODY', 'TABLE'].includes(e.tagName);
                    if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5 || spills))
                        out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                                 + (typeof e.className === 'string' && e.className
                                    ? '.' + e.className.split(' ')[0] : ''));
                }
                const row = document.querySelector('table.threads tbody tr');
                const head = document.querySelector('table.threads thead');
                return {viewport: w, scrollWidth: document.documentElement.scrollWidth, overflowing: out.slice(0, 20),
                        listRowDisplay: row ? getComputedStyle(row).display : '',
                        listHeaderShown: !!head && getComputedStyle(head).display !== 'none',
                        cardLabel: row ? getComputedStyle(row.querySelector('td'), '::before').content : '',
                        cardLabelText: row ? (row.querySelector('td').dataset.label || '') : '',
                        text: document.body.innerText.slice(0, 4000)}; })()""")
            shot = await cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
            with open(screenshot, "wb") as out:
                out.write(base64.b64decode(shot["data"]))
            found["path"] = path
            narrow.append(found)
            steps.append("measured " + path)

        async def session(ws):
            cdp = CDP(ws)
            for domain in ("Page", "Runtime", "Log", "DOM"):
                await cdp.call(domain + ".enable")
            if "width" in plan:  # a phone: narrow viewport, mobile layout (the meta viewport applies)
                await cdp.call("Emulation.setDeviceMetricsOverride", {"width": plan["width"], "height": 780,
                                                                       "deviceScaleFactor": 1, "mobile": True})
            shots = plan.get("shots", {})  # pages met on the way in (login, code, password), path -> screenshot

            async def js(expression):
                result = await cdp.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
                if "exceptionDetails" in result:
                    raise RuntimeError("evaluate failed: " + expression)
                return result["result"].get("value")

            async def url():
                return await js("location.pathname + location.search")

            async def loaded(action):
                start = len(cdp.events)
                await action()
                await cdp.wait_event("Page.loadEventFired", start)
                urls.append(await url())

            async def navigate(path):
                await loaded(lambda: cdp.call("Page.navigate", {"url": plan["base"] + path}))

            async def type_into(selector, text):
                if not await js("!!document.querySelector(%s)" % json.dumps(selector)):
                    raise RuntimeError("no element " + selector + " on " + await url())
                await js("document.querySelector(%s).focus()" % json.dumps(selector))
                await cdp.call("Input.insertText", {"text": text})  # as typed on the keyboard

            async def click(selector):
                box = await js("""(() => { const e = document.querySelector(%s); if (!e) return null;
                    e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
                    return [r.left + r.width / 2, r.top + r.height / 2]; })()""" % json.dumps(selector))
                if box is None:
                    page = await js("document.body ? document.body.innerText.slice(0, 400) : ''")
                    raise RuntimeError("no element %s on %s (visited %s): %s" % (selector, await url(), urls, page))
                async def press():
                    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
                        await cdp.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1],
                                                                    "button": "left", "clickCount": 1})
                await loaded(press)

            if "public" in plan:
                return await capture_public(cdp, navigate, js)
            await navigate("/login")
            steps.append("login page")
            if "/login" in shots:
                await measure(cdp, js, "/login", shots["/login"])
            await type_into("input[name=username]", plan["username"])
            await type_into("input[name=password]", plan["password"])
            await click("form[action^='/login'] button[type=submit]")
            if await js("!!document.querySelector('input[name=code]')"):
                # An account without a second factor enrols: the page's own secret (groups of four) gives the code.
                enrolling = await js("!!document.getElementById('totp-secret')")
                if enrolling:
                    plan["totp"] = (await js("document.getElementById('totp-secret').textContent")).replace(" ", "")
                    if "/login/totp/enrol" in shots:
                        await measure(cdp, js, "/login/totp/enrol", shots["/login/totp/enrol"])
                elif "totp" not in plan:
                    raise RuntimeError("second factor asked but no TOTP secret given")
                elif "/login/totp" in shots:
                    await measure(cdp, js, "/login/totp", shots["/login/totp"])
                await type_into("input[name=code]", totp(plan["totp"]))
                await click("form[action^='/login/totp'] button[type=submit]")
                steps.append("second factor enrolled" if enrolling else "second factor")
            steps.append("logged in")
            if (await url()).startswith("/account/password"):
                if "newPassword" not in plan:
                    raise RuntimeError("a new password is asked for but none given")
                if "/account/password" in shots:
                    await measure(cdp, js, "/account/password", shots["/account/password"])
                await type_into("input[name=current_password]", plan["password"])
                await type_into("input[name=new_password]", plan["newPassword"])
                await type_into("input[name=repeat_password]", plan["newPassword"])
                await click("form[action='/account/password'] button[type=submit]")
                steps.append("password changed")
            if "pages" in plan:
                return await capture_pages(cdp, navigate, js, url)
            if "narrow" in plan:
                for page in plan["narrow"]:
                    await navigate(page["path"])
                    await measure(cdp, js, page["path"], page["screenshot"])
                return {"steps": steps, "urls": urls, "problems": problems, "narrow": narrow}
            if not (await url()).startswith("/threads"):
                await navigate("/threads")
            await click("a[href='/threads/%s']" % plan["thread"])
            steps.append("thread opened")
            texts = await js("Array.from(document.querySelectorAll('pre.mail-text')).map(e => e.textContent).join('\\n')")
            await type_into("#reply-text", plan["reply"])
            await click("section.reply button[type=submit]")
            steps.append("reply sent")
            notice = await js("(document.querySelector('.notice') || {textContent: ''}).textContent")
            shown = await js("Array.from(document.querySelectorAll('pre.mail-text')).some(e => e.textContent.includes(%s))"
                             % json.dumps(plan["reply"]))
            shot = await cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
            with open(plan["screenshot"], "wb") as out:
                out.write(base64.b64decode(shot["data"]))
            steps.append("screenshot")
            cdp.reader.cancel()
            return {"steps": steps, "urls": urls, "threadText": texts, "notice": notice, "replyShown": shown,
                    "problems": problems}

        async def capture_pages(cdp, navigate, js, url):
            # One message per entry, found on its thread page by its subject: its text blocks with their direction,
            # its subject, and a screenshot of just that message once the page's fonts are loaded.
            pages = []
            for page in plan["pages"]:
                await navigate("/threads/" + page["thread"])
                find = """Array.from(document.querySelectorAll('li.message')).find(m =>
                    (m.querySelector('.subject') || {textContent: ''}).textContent.trim() === %s)""" % json.dumps(page["subject"])
                found = await js("(() => { const m = %s; if (!m) return null; m.scrollIntoView(); return m.id; })()" % find)
                if found is None:
                    raise RuntimeError("no message with subject %r on %s" % (page["subject"], await url()))
                element = "document.getElementById(%s)" % json.dumps(found)
                blocks = await js("""Array.from(%s.querySelectorAll('pre.mail-text')).map(e => ({
                    text: e.textContent, dir: e.getAttribute('dir') || '',
                    computedDirection: getComputedStyle(e).direction, rtl: e.matches(':dir(rtl)')}))""" % element)
                await cdp.call("Runtime.evaluate", {"expression": "document.fonts.ready.then(() => true)",
                                                    "awaitPromise": True, "returnByValue": True})
                box = await js("""(() => { const r = %s.getBoundingClientRect();
                    return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()""" % element)
                shot = await cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                    "clip": {"x": box[0], "y": box[1], "width": box[2], "height": box[3], "scale": 1}})
                with open(page["screenshot"], "wb") as out:
                    out.write(base64.b64decode(shot["data"]))
                steps.append("screenshot")
                pages.append({"path": await url(), "blocks": blocks, "messageText": await js(element + ".innerText")})
            return {"steps": steps, "urls": urls, "threadText": "", "notice": "", "replyShown": False,
                    "problems": problems, "pages": pages}

        async def capture_public(cdp, navigate, js):
            # Public pages without login: what the page holds (scripts, cookies, fingerprints, language, whether
            # its stylesheet applied) and a full-page screenshot once its fonts are loaded.
            pages = []
            for page in plan["public"]:
                await navigate(page["path"])
                await cdp.call("Runtime.evaluate", {"expression": "document.fonts.ready.then(() => true)",
                                                    "awaitPromise": True, "returnByValue": True})
                cookies = await cdp.call("Network.getAllCookies")
                pages.append({"path": page["path"], "lang": await js("document.documentElement.lang"),
                              "title": await js("document.title"), "text": await js("document.body.innerText"),
                              "scripts": await js("document.scripts.length"),
                              "documentCookie": await js("document.cookie"),
                              "cookies": [c["name"] for c in cookies.get("cookies", [])],
                              "fingerprints": await js("Array.from(document.querySelectorAll('.fingerprint'))"
                                                       ".map(e => e.textContent)"),
                              "keyLinks": await js("Array.from(document.querySelectorAll('a[download]'))"
                                                   ".map(e => e.getAttribute('href'))"),
                              "styled": await js("getComputedStyle(document.querySelector('main')).maxWidth")})
                shot = await cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
                with open(page["screenshot"], "wb") as out:
                    out.write(base64.b64decode(shot["data"]))
                steps.append("screenshot")
            return {"steps": steps, "urls": urls, "problems": problems, "pages": pages}

        async def main():
            profile = tempfile.mkdtemp(prefix="mb-chromium-")
            browser = subprocess.Popen([plan["chromium"], "--headless=new", "--no-sandbox", "--disable-gpu",
                                        "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                                        "--disable-background-networking", "--disable-sync",
                                        "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                                        "--user-data-dir=" + profile, "--window-size=1280,900", "about:blank"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                port_file = os.path.join(profile, "DevToolsActivePort")
                deadline = time.monotonic() + 30
                while not os.path.exists(port_file) or not open(port_file).read().strip():
                    if time.monotonic() > deadline or browser.poll() is not None:
                        raise RuntimeError("chromium did not start")
                    time.sleep(0.1)
                port = int(open(port_file).read().split()[0])
                targets = []
                while not any(t.get("type") == "page" for t in targets):
                    if time.monotonic() > deadline:
                        raise RuntimeError("no page target")
                    with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as response:
                        targets = json.load(response)
                page = next(t for t in targets if t.get("type") == "page")
                async with websockets.connect(page["webSocketDebuggerUrl"], max_size=256 << 20) as ws:
                    report = await asyncio.wait_for(session(ws), 120)
                print(json.dumps(report))
            finally:
                browser.terminate()
                try:
                    browser.wait(10)
                except subprocess.TimeoutExpired:
                    browser.kill()
                    browser.wait(10)
                shutil.rmtree(profile, ignore_errors=True)

        asyncio.run(main())
        """#
}
