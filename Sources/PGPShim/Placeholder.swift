public enum PGPShimPlaceholder {}
