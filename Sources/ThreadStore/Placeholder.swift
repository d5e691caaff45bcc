public enum ThreadStorePlaceholder {}
