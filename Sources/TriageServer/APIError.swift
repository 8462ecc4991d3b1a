import Hummingbird
import NIOCore
import TriageData

/// An error answer: a status and a JSON body `{"error": …, "field": …}` naming what is wrong.
/// Every refusal of bad input is one of these (4xx); a 5xx only says the server cannot work
/// right now (503: model or database unusable), never that the input was bad.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var field: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, field: String? = nil) {
        self.status = status
        self.message = message
        self.field = field
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields: [String: JSONValue] = ["error": .string(message)]
        if let field { fields["field"] = .string(field) }
        var response = JSONResponse.make(status: status, json: .object(fields))
        for header in headers { response.headers.append(header) }
        return response
    }

    static func badRequest(_ message: String, field: String? = nil) -> APIError { APIError(.badRequest, message, field: field) }
    static func unauthorized(_ message: String) -> APIError {
        var error = APIError(.unauthorized, message)
        error.headers[.wwwAuthenticate] = "Bearer realm=\"triage\""
        return error
    }
    static func unavailable(_ message: String) -> APIError { APIError(.serviceUnavailable, message) }
}

/// JSON responses from bytes we render ourselves.
enum JSONResponse {
    static func make(status: HTTPResponse.Status = .ok, json: JSONValue) -> Response {
        make(status: status, bytes: Array((json.serialized() + "\n").utf8))
    }

    static func make(status: HTTPResponse.Status = .ok, bytes: [UInt8]) -> Response {
        let headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        guard bytes.count > chunkBytes else {
            var buffer = ByteBuffer()
            buffer.writeBytes(bytes)
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: buffer))
        }
        // A large answer is written in chunks, each waiting until the connection can take it:
        // at most about one chunk is ever queued in the server, so when the last write returns
        // the answer has (nearly) left, which a graceful stop relies on (`ShutdownWatcher`).
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: bytes.count) { writer in
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + chunkBytes)
                var buffer = ByteBuffer()
                buffer.writeBytes(bytes[start..<end])
                try await writer.write(buffer)
                start = end
            }
            try await writer.finish(nil)
        })
    }

    static let chunkBytes = 64 << 10
}
