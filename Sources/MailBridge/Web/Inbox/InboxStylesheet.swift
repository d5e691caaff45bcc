/// `/static/app.css`: the only stylesheet (served from this origin, as the CSP requires). Visible focus,
/// sufficient contrast, no external fonts or images.
enum InboxStylesheet {
    static let path = "/static/app.css"

    static let css = """
        :root { --fg: #1b1b1b; --bg: #ffffff; --muted: #5a5a5a; --accent: #0b4f8a; --line: #c8c8c8;
          --warn-bg: #fff4d6; --warn-fg: #5c3d00; --bad-bg: #fde2e2; --bad-fg: #7a0b0b; --ok-bg: #e3f4e6;
          --ok-fg: #14532d; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
        a { color: var(--accent); }
        :focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; }
        .skip-link { position: absolute; left: -9999px; }
        .skip-link:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; z-index: 10; }
        .site-header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between;
          padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: #f3f6f9; }
        .site-header ul { list-style: none; margin: 0; padding: 0; display: flex; gap: 1rem; }
        .app-name { font-weight: 600; margin: 0; }
        main { padding: 1rem; max-width: 70rem; margin: 0 auto; }
        .inline-form { display: inline; }
        button, .button { font: inherit; padding: .35rem .8rem; border: 1px solid var(--accent); border-radius: 4px;
          background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
        .button:not(.danger) { background: var(--bg); color: var(--accent); }
        .danger, button.danger { background: #9b1c1c; border-color: #9b1c1c; color: #fff; }
        table.threads { border-collapse: collapse; width: 100%; }
        table.threads caption { text-align: left; color: var(--muted); padding: .25rem 0; }
        table.threads th, table.threads td { border-bottom: 1px solid var(--line); padding: .4rem; text-align: left; }
        td.number { text-align: right; }
        .badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; border: 1px solid var(--line);
          font-size: .9em; }
        .badge-new { background: #dbeafe; border-color: #1d4ed8; }
        .badge-held { background: #fef3c7; border-color: #b45309; }
        .badge-closed { color: var(--muted); }
        .filter { margin: 1rem 0; display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
        nav.pager ul { list-style: none; padding: 0; display: flex; gap: 1rem; flex-wrap: wrap; }
        .details dl, .message-meta dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem;
          margin: 0; }
        .details dt, .message-meta dt { font-weight: 600; }
        .details dd, .message-meta dd { margin: 0; }
        .fingerprint { overflow-wrap: anywhere; }
        .action-row { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; }
        .assign-form { display: flex; gap: .5rem; align-items: center; }
        .messages { list-style: none; padding: 0; }
        .message { border: 1px solid var(--line); border-radius: 4px; margin: 1rem 0; }
        .message.outbound { border-left: 4px solid var(--accent); }
        .message-meta { background: #f6f6f6; padding: .5rem .75rem; border-bottom: 1px solid var(--line); }
        .message-meta h3 { margin: 0 0 .25rem; font-size: 1rem; }
        .mail-content { padding: .5rem .75rem; }
        .mail-text { white-space: pre-wrap; word-wrap: break-word; font: inherit; margin: 0 0 .5rem; }
        .verdict { padding: 0 .4rem; border-radius: 3px; }
        .verdict-valid { background: var(--ok-bg); color: var(--ok-fg); }
        .verdict-bad { background: var(--bad-bg); color: var(--bad-fg); font-weight: 700; border: 2px solid; }
        .verdict-unverified { background: var(--warn-bg); color: var(--warn-fg); font-weight: 700; border: 1px solid; }
        .verdict-valid::before { content: "✔ "; }
        .verdict-bad::before { content: "✖ "; }
        .verdict-unverified::before { content: "⚠ "; }
        .verdict-advice { display: block; margin-top: .2rem; }
        .signer-uid { font-weight: 600; }
        .subject-unsigned { color: #8a5a00; font-size: 0.9em; }
        .delivery { padding: 0 .4rem; border-radius: 3px; }
        .delivery-sent { background: var(--ok-bg); color: var(--ok-fg); }
        .delivery-queued, .delivery-held { background: var(--warn-bg); color: var(--warn-fg); }
        .delivery-failed { background: var(--bad-bg); color: var(--bad-fg); font-weight: 700; }
        .signer-other { color: var(--bad-fg); font-weight: 700; }
        .attachments { padding: 0 .75rem .5rem; }
        .attachments h4 { margin: .25rem 0; }
        .withheld, .hint { color: var(--muted); }
        .forwarded { border-left: 3px solid var(--muted); margin: .5em 0; padding-left: .8em; }
        .notice { border: 1px solid #1d4ed8; background: #eff6ff; padding: .5rem .75rem; margin: .5rem 0; }
        .notice-warning, .key-change.warning { border: 1px solid #b45309; background: var(--warn-bg);
          color: var(--warn-fg); }
        .key-change { padding: .25rem .75rem; margin: 1rem 0; border: 1px solid var(--line); }
        .reply textarea { width: 100%; font: inherit; padding: .5rem; }
        .reply label { display: block; font-weight: 600; margin-bottom: .25rem; }
        dd, .mail-text, .forwarded { overflow-wrap: anywhere; }
        /* Forms laid out like the login pages (issue 22): one card, labels above full-width fields. */
        .auth-card { max-width: 26rem; margin: 1rem auto; padding: 1.5rem; border: 1px solid var(--line);
          border-radius: .5rem; }
        .auth-form label { display: block; font-weight: 600; margin-bottom: .25rem; }
        .auth-form input { width: 100%; padding: .5rem; font: inherit; }
        .rules { background: #f3f6f9; border-radius: 4px; padding: .25rem .75rem; }
        .rules p { margin: .25rem 0; font-weight: 600; }
        .rules ul { margin: .25rem 0 .5rem; padding-left: 1.25rem; }
        .form-error, [role="alert"] { color: #a51d2d; font-weight: 600; }
        /* Phones (360 px and up, issue 22): the list becomes cards, each cell labelled; nothing wider than the
           screen. */
        @media (max-width: 40rem) {
          main { padding: .5rem; }
          h1 { font-size: 1.5rem; }
          h1, h2 { overflow-wrap: anywhere; }
          .site-header { padding: .5rem; gap: .25rem .75rem; }
          .site-header ul { flex-wrap: wrap; gap: .25rem .75rem; }
          .filter { display: grid; grid-template-columns: 1fr; gap: .25rem; }
          table.threads, table.threads tbody, table.threads tr, table.threads th, table.threads td,
          table.threads caption { display: block; width: auto; }
          table.threads thead { display: none; }
          table.threads tr { border: 1px solid var(--line); border-radius: 4px; margin: .5rem 0;
            padding: .25rem .6rem; }
          table.threads th, table.threads td { border: 0; padding: .1rem 0; text-align: left; }
          table.threads td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); }
          .details dl, .message-meta dl { grid-template-columns: 1fr; gap: 0; }
          .details dd, .message-meta dd { margin-bottom: .35rem; }
          .assign-form { flex-wrap: wrap; }
          .message-meta, .mail-content { padding: .4rem .5rem; }
          .auth-card { margin: .5rem 0; padding: 1rem; }
        }
        """
}
