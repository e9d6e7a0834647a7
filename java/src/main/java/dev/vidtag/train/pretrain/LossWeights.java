package dev.vidtag.train.pretrain;

/**
 * The weights of the single-stream terms in the total (the reference: MLM / 1.25 + MFM / 3 +
 * ITM).
 */
public record LossWeights(double mlm, double mfm, double itm) {
  public static final LossWeights REFERENCE = new LossWeights(1 / 1.25, 1 / 3.0, 1.0);

  public LossWeights {
    for (double w : new double[] {mlm, mfm, itm}) {
      if (!(w >= 0) || Double.isInfinite(w)) {
        throw new IllegalArgumentException("loss weights must be finite and >= 0, got " + w);
      }
    }
  }

  /** Parses "MLM,MFM,ITM", e.g. "0.8,0.3333,1". */
  public static LossWeights parse(String spec) {
    String[] parts = spec.split(",");
    if (parts.length != 3) {
      throw new IllegalArgumentException("loss weights are three numbers MLM,MFM,ITM, got '"
          + spec + "'");
    }
    try {
      return new LossWeights(Double.parseDouble(parts[0].trim()),
          Double.parseDouble(parts[1].trim()), Double.parseDouble(parts[2].trim()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("loss weights are three numbers MLM,MFM,ITM, got '"
          + spec + "'");
    }
  }
}
