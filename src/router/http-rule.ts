/**
 * A google.api.http rule as plain data (google/api/http.proto), whether it came from a method's
 * reflected options or from an HTTP rules file. The router parses `pattern` into a template.
 */

export type HttpVerb = "GET" | "PUT" | "POST" | "DELETE" | "PATCH" | (string & {});

export interface HttpRule {
  /** Fully-qualified method name the rule maps to (`acme.library.v1.LibraryService.GetBook`). */
  selector: string;
  /** Upper-case HTTP method; for the `custom` kind, the custom verb as given. */
  verb: HttpVerb;
  /** The path template, e.g. `/v1/{name=shelves/*}/books`. */
  pattern: string;
  /** `""` (no body), `"*"` (whole request message) or a top-level request field name. */
  body: string;
  /** `""` (whole response message) or a top-level response field name. */
  responseBody: string;
  /** Further bindings of the same method (never nested further, per the spec). */
  additionalBindings: HttpRule[];
  /** Where the rule came from: the descriptor's option or the rules file (which overrides). */
  source: "descriptor" | "rules-file";
}
