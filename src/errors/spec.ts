/** One entry of the closed error-code table: the HTTP status it maps to and whether a retry may help. */
export interface ErrorCodeSpec {
  readonly status: number;
  readonly retriable: boolean;
  readonly summary: string;
}
