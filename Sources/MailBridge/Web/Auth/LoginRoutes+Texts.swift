import Hummingbird
import ThreadStore

extension LoginRoutes {
    /// The texts of a page before login: its language (``LoginPages/language(of:account:)``: the account's once
    /// the password step named it) and the organisation's name: with `[[organisation]]` (issue 29) the account's
    /// organisation once the password step named it, else the one of `?organisation=ID` (a link an organisation
    /// gives its staff), else `[web] organisation-name`.
    func texts(_ request: Request, account: Account? = nil) -> LoginTexts {
        let organisations = state.services.organisations
        let linked = request.uri.queryParameters.get("organisation").flatMap(organisations.configuredID)
        let named = account.flatMap { organisations.name(of: $0.organisation) } ?? organisations.name(of: linked)
        return LoginTexts(language: LoginPages.language(of: request, account: account),
                          organisation: named ?? state.settings.organisationName, organisationID: linked)
    }
}
