// java.net.http.WebSocket (JDK 17) against URLs read one per line on stdin, the driver contract
// of tests/clients/__init__.py: one JSON line per URL, "opened" when buildAsync completed with a
// WebSocket (then a text frame and a Close), else the exception it completed with; eight URLs at
// a time. The JDK offers no extension (OpeningHandshake sends no Sec-WebSocket-Extensions);
// "?protocol=NAME" (or "?protocols=A,B") in the URL offers those subprotocols. Compiled once per
// test session with javac.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

public class Driver {
    static final int CONCURRENCY = 8;

    static List<String> protocols(URI uri) {
        List<String> names = new ArrayList<>();
        String query = uri.getRawQuery();
        if (query == null) return names;
        for (String pair : query.split("&")) {
            int equals = pair.indexOf('=');
            String name = equals < 0 ? pair : pair.substring(0, equals);
            if (!name.equals("protocol") && !name.equals("protocols")) continue;
            String value = URLDecoder.decode(pair.substring(equals + 1), StandardCharsets.UTF_8);
            for (String item : value.split(",")) {
                if (!item.isBlank()) names.add(item.strip());
            }
        }
        return names;
    }

    static String json(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    static String detail(Throwable error) {
        StringBuilder out = new StringBuilder();
        for (Throwable e = error; e != null; e = e.getCause()) {
            if (e instanceof ExecutionException) continue;
            if (out.length() > 0) out.append(": ");
            out.append(e.getClass().getSimpleName());
            if (e.getMessage() != null) out.append(" ").append(e.getMessage());
        }
        return out.toString();
    }

    static String one(HttpClient client, String raw, Duration timeout) {
        WebSocket.Listener listener = new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                ws.request(1);
                return null;
            }
        };
        try {
            URI uri = URI.create(raw);
            WebSocket.Builder builder = client.newWebSocketBuilder().connectTimeout(timeout);
            List<String> names = protocols(uri);
            if (!names.isEmpty()) {
                builder.subprotocols(names.get(0), names.subList(1, names.size()).toArray(new String[0]));
            }
            WebSocket ws = builder.buildAsync(uri, listener)
                .get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS);
            try {
                ws.sendText("hello", true).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                // it opened; what follows (the server closing first, say) is not the handshake
            }
            ws.abort();
            return "{\"url\": " + json(raw) + ", \"opened\": true, \"detail\": \"\"}";
        } catch (TimeoutException e) {
            if (e.getMessage() == null) {
                return "{\"url\": " + json(raw) + ", \"opened\": false, \"detail\": \"no open within the timeout\"}";
            }
            return "{\"url\": " + json(raw) + ", \"opened\": false, \"detail\": " + json(detail(e)) + "}";
        } catch (Exception e) {
            return "{\"url\": " + json(raw) + ", \"opened\": false, \"detail\": " + json(detail(e)) + "}";
        }
    }

    public static void main(String[] args) throws Exception {
        double seconds = 3;
        try {
            seconds = Double.parseDouble(System.getenv().getOrDefault("WSACCEPT_DRIVER_TIMEOUT", "3"));
        } catch (NumberFormatException e) {
            // the default
        }
        Duration timeout = Duration.ofMillis((long) (seconds * 1000));
        HttpClient client = HttpClient.newHttpClient();
        BufferedReader input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        ExecutorService pool = Executors.newFixedThreadPool(CONCURRENCY);
        for (String line; (line = input.readLine()) != null; ) {
            String raw = line.strip();
            if (!raw.isEmpty()) {
                pool.submit(() -> {
                    String found = one(client, raw, timeout);
                    synchronized (System.out) {
                        System.out.println(found);
                        System.out.flush();
                    }
                });
            }
        }
        pool.shutdown();
        pool.awaitTermination(1, TimeUnit.DAYS);
        System.exit(0);
    }
}
