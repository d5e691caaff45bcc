import Hummingbird
import ThreadStore

extension LoginRoutes {
    /// The texts of a page before login: its language (``LoginPages/language(of:account:)``: the account's once
    /// the password step named it) and the organisation's name from `[web] organisation-name`.
    func texts(_ request: Request, account: Account? = nil) -> LoginTexts {
        LoginTexts(language: LoginPages.language(of: request, account: account),
                   organisation: state.settings.organisationName)
    }
}
