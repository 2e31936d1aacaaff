import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Just enough JSON for the results file: maps, lists, strings, numbers, booleans, null.
 * Written here rather than pulled in, so the benchmark needs nothing beyond the JDK.
 */
final class Json {
    private Json() {}

    /** Pretty-printed JSON of maps, lists, strings, numbers, booleans and null. */
    static String write(Object value) {
        var sb = new StringBuilder();
        write(value, sb, "");
        return sb.append('\n').toString();
    }

    private static void write(Object v, StringBuilder sb, String indent) {
        switch (v) {
            case null -> sb.append("null");
            case String s -> quote(s, sb);
            case Double d when d.isNaN() || d.isInfinite() -> sb.append("null");
            case Double d -> sb.append(d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf(d.longValue()) : String.valueOf(d));
            case Number n -> sb.append(n);
            case Boolean b -> sb.append(b);
            case Map<?, ?> m -> {
                if (m.isEmpty()) { sb.append("{}"); return; }
                sb.append("{\n");
                int i = 0;
                for (var e : m.entrySet()) {
                    sb.append(indent).append("  ");
                    quote(String.valueOf(e.getKey()), sb);
                    sb.append(": ");
                    write(e.getValue(), sb, indent + "  ");
                    sb.append(++i < m.size() ? ",\n" : "\n");
                }
                sb.append(indent).append('}');
            }
            case List<?> l -> {
                // Lists of plain values stay on one line; lists of objects get a line each.
                boolean flat = l.stream().noneMatch(x -> x instanceof Map || x instanceof List);
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (!flat) sb.append('\n').append(indent).append("  ");
                    write(l.get(i), sb, indent + "  ");
                    if (i + 1 < l.size()) sb.append(flat ? ", " : ",");
                }
                if (!flat && !l.isEmpty()) sb.append('\n').append(indent);
                sb.append(']');
            }
            default -> quote(v.toString(), sb);
        }
    }

    private static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /** Parses JSON text into maps (insertion-ordered), lists, strings, doubles, booleans and null. */
    static Object parse(String text) {
        var p = new Parser(text);
        Object v = p.value();
        p.skipSpace();
        if (p.pos != text.length()) throw p.error("trailing text");
        return v;
    }

    private static final class Parser {
        final String s;
        int pos;

        Parser(String s) { this.s = s; }

        Object value() {
            skipSpace();
            if (pos >= s.length()) throw error("unexpected end");
            char c = s.charAt(pos);
            return switch (c) {
                case '{' -> object();
                case '[' -> array();
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> number();
            };
        }

        Map<String, Object> object() {
            var m = new LinkedHashMap<String, Object>();
            pos++;
            skipSpace();
            if (peek('}')) return m;
            do {
                skipSpace();
                String k = string();
                skipSpace();
                expect(':');
                m.put(k, value());
                skipSpace();
            } while (peek(','));
            expect('}');
            return m;
        }

        List<Object> array() {
            var l = new ArrayList<Object>();
            pos++;
            skipSpace();
            if (peek(']')) return l;
            do {
                l.add(value());
                skipSpace();
            } while (peek(','));
            expect(']');
            return l;
        }

        String string() {
            expect('"');
            var sb = new StringBuilder();
            while (pos < s.length()) {
                char c = s.charAt(pos++);
                if (c == '"') return sb.toString();
                if (c != '\\') { sb.append(c); continue; }
                char e = s.charAt(pos++);
                switch (e) {
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'u' -> { sb.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16)); pos += 4; }
                    default -> sb.append(e);
                }
            }
            throw error("unterminated string");
        }

        Double number() {
            int start = pos;
            while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) pos++;
            if (start == pos) throw error("unexpected '" + s.charAt(pos) + "'");
            return Double.valueOf(s.substring(start, pos));
        }

        Object literal(String word, Object v) {
            if (!s.startsWith(word, pos)) throw error("unexpected '" + s.charAt(pos) + "'");
            pos += word.length();
            return v;
        }

        boolean peek(char c) {
            if (pos < s.length() && s.charAt(pos) == c) { pos++; return true; }
            return false;
        }

        void expect(char c) {
            if (!peek(c)) throw error("expected '" + c + "'");
        }

        void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++;
        }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException("bad JSON at character " + pos + ": " + what);
        }
    }
}
