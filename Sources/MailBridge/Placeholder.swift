public enum MailBridgePlaceholder {}
