// Kept out of the HTML so the docs page needs no inline script. No validator badge: it would
// load an image from another site, which the Content-Security-Policy refuses.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
