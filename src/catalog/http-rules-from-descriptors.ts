import type { DescriptorFile, HttpRuleMessage } from "../reflection/descriptor-file.js";
import type { HttpRule } from "../router/http-rule.js";

/**
 * Reads the `google.api.http` option of every method in a set of descriptor files.
 * Returns the rules by fully-qualified method name; methods without the option are absent.
 */
export function httpRulesFromDescriptors(files: Iterable<DescriptorFile>): Map<string, HttpRule[]> {
  const rules = new Map<string, HttpRule[]>();
  for (const file of files) {
    const prefix = file.package ? `${file.package}.` : "";
    for (const service of file.proto.service) {
      for (const method of service.method) {
        const option = method.options?.[".google.api.http"];
        if (!option) continue;
        const selector = `${prefix}${service.name}.${method.name}`;
        const rule = httpRuleFromMessage(selector, option);
        if (rule) rules.set(selector, [rule]);
      }
    }
  }
  return rules;
}

function httpRuleFromMessage(selector: string, message: HttpRuleMessage): HttpRule | undefined {
  const binding = patternOf(message);
  if (!binding) return undefined;
  return {
    selector,
    verb: binding.verb,
    pattern: binding.pattern,
    body: message.body ?? "",
    responseBody: message.responseBody ?? "",
    // The spec: additional_bindings never nest further, so their own additional bindings are dropped.
    additionalBindings: (message.additionalBindings ?? []).flatMap((extra) => {
      const nested = patternOf(extra);
      return nested
        ? [
            {
              selector,
              verb: nested.verb,
              pattern: nested.pattern,
              body: extra.body ?? "",
              responseBody: extra.responseBody ?? "",
              additionalBindings: [],
              source: "descriptor" as const,
            },
          ]
        : [];
    }),
    source: "descriptor",
  };
}

function patternOf(message: HttpRuleMessage): { verb: string; pattern: string } | undefined {
  if (message.get) return { verb: "GET", pattern: message.get };
  if (message.put) return { verb: "PUT", pattern: message.put };
  if (message.post) return { verb: "POST", pattern: message.post };
  if (message.delete) return { verb: "DELETE", pattern: message.delete };
  if (message.patch) return { verb: "PATCH", pattern: message.patch };
  if (message.custom?.kind && message.custom.path)
    return { verb: message.custom.kind, pattern: message.custom.path };
  return undefined;
}
