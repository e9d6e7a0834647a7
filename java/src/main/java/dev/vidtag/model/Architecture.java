package dev.vidtag.model;

/** The two model families of the reference solution. */
public enum Architecture {
  /** Frames and text in one BERT sequence (VisualBERT-like). */
  SINGLE("single"),
  /** BERT over text, then a transformer decoder with frames as queries (LXMERT/ALBEF-like). */
  DOUBLE("double");

  private final String configName;

  Architecture(String configName) {
    this.configName = configName;
  }

  public String configName() {
    return configName;
  }

  /** Parses a config or command-line value; null when unknown. */
  public static Architecture fromConfigName(String name) {
    for (Architecture a : values()) {
      if (a.configName.equals(name)) {
        return a;
      }
    }
    return null;
  }
}
